"""Several ``housedesk run`` processes on one database: leads of periodic jobs, the registry."""
