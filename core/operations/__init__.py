"""Operations: routing, business calendars, deadlines, periodic jobs, digests, announcements."""
