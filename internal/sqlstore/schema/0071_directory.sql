-- The published room directory reads the rooms whose visibility is
-- public: a partial index keeps that a small index scan however many
-- private rooms the server has.
CREATE INDEX rooms_published ON rooms (room_nid) WHERE visibility = 'public';
