package api

func (s *Server) registerFederation() {}
