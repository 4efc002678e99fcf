package api

func (s *Server) registerKeeper() {}
