"""Pure policy: the decisions the operator and the webhooks make, with no I/O and the time passed in.

One module per responsibility: durations, schedules, eligibility (who, when, where), windows (for
how long), approvals (who reviewed), checkout (how many at once) and policyhash (what was decided
under). Configuration errors in a Safe (an unknown time zone, a malformed time) raise ValueError;
decisions about a request return a Decision.
"""
