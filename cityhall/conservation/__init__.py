"""Resource conservation in four areas and the energy-conservation committee (seed III.6, IV.1(5)).

`progress` (year-to-date consumption against targets, pro-rating and status), `targets` (targets and monthly
entries of unmetered consumption), `committee` (meetings, minutes, action items) and `programmes`
(departmental programmes, their measures and area targets, reviews). See docs/conservation.md.
"""
