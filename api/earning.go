package api

func (s *Server) registerEarning() {}
