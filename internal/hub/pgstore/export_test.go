package pgstore

// Test hooks.

// SetIngestRounds sets how many group-commit rounds of ingestion may run at
// once.
func SetIngestRounds(s *Store, n int) {
	s.ingests.mu.Lock()
	s.ingests.rounds = n
	s.ingests.mu.Unlock()
}

// PendingIngests is the number of ingestions waiting for a round.
func PendingIngests(s *Store) int {
	s.ingests.mu.Lock()
	defer s.ingests.mu.Unlock()
	return len(s.ingests.pending)
}

// IngestRounds is the number of ingestion rounds started.
func IngestRounds(s *Store) int64 { return s.ingests.started.Load() }
