-- The OpenAI 'user' field (the product team's own end-user id), kept for chargeback inside a team.
ALTER TABLE usage_records ADD COLUMN end_user text CHECK (length(end_user) <= 256);
