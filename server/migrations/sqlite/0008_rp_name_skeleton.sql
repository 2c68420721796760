-- The UTS #39 confusable skeleton of each relying party's name: unique, so
-- that no relying party can be created under a name that looks like another's
-- ("PayPal", "Paypa1", "РayPal" with a Cyrillic "Р"). The server fills it in
-- for rows made before this migration when it starts; NULL (not yet filled, or
-- two old look-alikes of which only the first keeps it) never conflicts.
ALTER TABLE relying_parties ADD COLUMN name_skeleton TEXT;
CREATE UNIQUE INDEX relying_parties_name_skeleton ON relying_parties (name_skeleton);
