package api

func (s *Server) registerOfficer() {}
