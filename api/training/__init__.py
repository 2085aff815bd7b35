"""Safety training and lifelong learning over HTTP: courses, sessions, enrolment, attendance, xAPI intake,
progress, certificates, drills, exports and the training pages."""
