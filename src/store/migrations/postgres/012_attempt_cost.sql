-- What the provider said an attempt cost it, where the provider reports it (Eden AI's `cost`,
-- Runway's `cost` or `estimatedCost`, Kling's `final_unit_deduction`): in millionths of
-- cost_unit ('usd', 'credits' or 'units', the provider's own unit), the last figure its
-- replies gave. NULL for both when the provider said nothing.
ALTER TABLE generation_attempts ADD COLUMN cost_micros bigint CHECK (cost_micros >= 0);
ALTER TABLE generation_attempts ADD COLUMN cost_unit text;
