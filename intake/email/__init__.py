"""The email channel: parsing and classifying incoming mail, composing and sending replies,
and the two ways mail arrives (an SMTP server and an IMAP poller) feeding one ``MailIngest``."""
