package api

func (s *Server) registerMerchant() {}

// Webhooks pushes order events to merchants' endpoints, retried with backoff.
type Webhooks struct{}
