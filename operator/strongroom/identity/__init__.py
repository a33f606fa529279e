"""Who asked and who approved: identity stamped at admission and sealed with the operator's key."""
