package api

import "time"

// shanghai is the platform's time zone (UTC+8 all year since 1991), for dates in answers.
var shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

func rfc3339(nanos int64) string {
	if nanos == 0 {
		return ""
	}
	return time.Unix(0, nanos).In(shanghai).Format(time.RFC3339)
}

// parseTime reads an RFC 3339 time or a date (2026-02-01, Asia/Shanghai) to batch nanos.
func parseTime(s string) (int64, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UnixNano(), true
	}
	if t, err := time.ParseInLocation("2006-01-02", s, shanghai); err == nil {
		return t.UnixNano(), true
	}
	return 0, false
}
