"""Safety training and lifelong learning (seed III.6, IV.1(3), IV.1(8), IV.2(1)).

Pure rules: `durations` (ISO 8601 durations of xAPI results) and `progress` (targets, pro-rating, pace).
Services: `catalogue` (staff profiles, courses, sessions, enrolment with a waiting list), `attendance`
(taken in the app or imported from CSV, hours credited, certificates issued), `xapi` (digital learning
intake), `reports` (progress, roll-ups, the procurement register, exports), `reminders` (licence expiry
e-mail) and `drills`. See docs/training.md.
"""
