-- 0008_webhook_deliveries.sql: a delivery is recorded once per project it
-- acted for.  Several projects may deploy one repository; a delivery whose
-- signature verifies for more than one of them queues a deployment for
-- each, and a redelivery must find every one of those records.

DELETE FROM webhook_deliveries WHERE project_id IS NULL;

ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_pkey;
ALTER TABLE webhook_deliveries ALTER COLUMN project_id SET NOT NULL;
ALTER TABLE webhook_deliveries ADD PRIMARY KEY (delivery_id, project_id);
