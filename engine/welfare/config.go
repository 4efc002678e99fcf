package welfare

import "huigong/engine/stock"

// Category is a policy category of welfare, which the federation's caps are set per.
type Category uint8

// The policy categories. The values are journaled: never renumber them.
const (
	CategoryFestival        Category = 1
	CategoryBirthday        Category = 2
	CategoryChildbirth      Category = 3
	CategoryIllness         Category = 4
	CategoryIllnessSurgery  Category = 5
	CategoryDeathOfMember   Category = 6
	CategoryDeathOfRelative Category = 7
	CategoryRetirement      Category = 8
	CategoryActivity        Category = 9
	CategoryGeneral         Category = 10
	categoryLast                     = CategoryGeneral
)

var categoryNames = [...]string{
	CategoryFestival:        "festival",
	CategoryBirthday:        "birthday",
	CategoryChildbirth:      "childbirth",
	CategoryIllness:         "illness",
	CategoryIllnessSurgery:  "illness_surgery",
	CategoryDeathOfMember:   "death_of_member",
	CategoryDeathOfRelative: "death_of_relative",
	CategoryRetirement:      "retirement",
	CategoryActivity:        "activity",
	CategoryGeneral:         "general",
}

func (c Category) String() string {
	if c == 0 || c > categoryLast {
		return "invalid"
	}
	return categoryNames[c]
}

// ParseCategory returns the category named s.
func ParseCategory(s string) (Category, bool) {
	for c := Category(1); c <= categoryLast; c++ {
		if categoryNames[c] == s {
			return c, true
		}
	}
	return 0, false
}

// Categories lists every category in order.
func Categories() []Category {
	all := make([]Category, 0, categoryLast)
	for c := Category(1); c <= categoryLast; c++ {
		all = append(all, c)
	}
	return all
}

// Config is what the federation sets for every shard.
type Config struct {
	// Version orders settings: a shard keeps the highest it has seen.
	Version uint64 `json:"version"`
	// CapsFen is the yearly cap per member per category, by category; a negative cap means no
	// cap for that category.
	CapsFen [categoryLast + 1]int64 `json:"caps_fen"`
	// ApprovalThresholdFen is the issuance total above which a second officer must approve the
	// program first.
	ApprovalThresholdFen int64 `json:"approval_threshold_fen"`
	// Festivals is the calendar of statutory festivals.
	Festivals []Festival `json:"festivals"`
	// Campaigns are the festival sales, with their discounts.
	Campaigns []stock.Campaign `json:"campaigns"`
	// ReserveTimeoutNanos bounds an open checkout; PaymentTimeoutNanos the wait for a cash
	// payment; UncollectedNanos the wait at the pickup point; ReturnWindowNanos a return after
	// pickup.
	ReserveTimeoutNanos int64 `json:"reserve_timeout_nanos"`
	PaymentTimeoutNanos int64 `json:"payment_timeout_nanos"`
	UncollectedNanos    int64 `json:"uncollected_nanos"`
	ReturnWindowNanos   int64 `json:"return_window_nanos"`
	// ActivityDailyCapsFen caps what one member may be awarded per day per kind of activity;
	// the kind "*" is the cap of kinds not listed.
	ActivityDailyCapsFen map[string]int64 `json:"activity_daily_caps_fen"`
}

// Festival is one statutory festival in one year, as a range of calendar days in
// Asia/Shanghai time (days since 1970-01-01), both ends included.
type Festival struct {
	Name    string `json:"name"`
	FromDay int32  `json:"from_day"`
	ToDay   int32  `json:"to_day"`
}

// DefaultConfig is Fujian's caps (in force from 2018) and the calendar for 2026 to 2028.
// Cash-like categories have no cap of their own: activity points are capped per day by the
// earning API, and general programs by their budget.
func DefaultConfig() Config {
	c := Config{
		Version: 1, ApprovalThresholdFen: 100_000_00,
		ReserveTimeoutNanos: 30 * nanosPerSecond, PaymentTimeoutNanos: 15 * 60 * nanosPerSecond,
		UncollectedNanos: 7 * secondsPerDay * nanosPerSecond, ReturnWindowNanos: 7 * secondsPerDay * nanosPerSecond,
	}
	for i := range c.CapsFen {
		c.CapsFen[i] = -1
	}
	c.CapsFen[CategoryFestival] = 1_300_00
	c.CapsFen[CategoryBirthday] = 300_00
	c.CapsFen[CategoryChildbirth] = 500_00
	c.CapsFen[CategoryIllness] = 500_00
	c.CapsFen[CategoryIllnessSurgery] = 1_000_00
	c.CapsFen[CategoryDeathOfMember] = 2_000_00
	c.CapsFen[CategoryDeathOfRelative] = 1_000_00
	c.CapsFen[CategoryRetirement] = 500_00
	c.Festivals = DefaultFestivals()
	c.ActivityDailyCapsFen = map[string]int64{"quiz": 10_00, "lecture": 20_00, "checkin": 2_00, "*": 20_00}
	return c
}

// DefaultFestivals is the statutory festivals of 2026 to 2028. The lunar festivals (Spring
// Festival, Dragon Boat, Mid-Autumn) and Qingming move from year to year, so they are data: the
// federation edits the calendar as the State Council publishes each year's holidays. Each entry
// is the festival day itself; a federation may widen an entry to the whole holiday.
func DefaultFestivals() []Festival {
	type d struct{ y, m, day int }
	days := []struct {
		name string
		on   d
	}{
		{"new_year", d{2026, 1, 1}}, {"spring_festival", d{2026, 2, 17}}, {"qingming", d{2026, 4, 5}},
		{"labour_day", d{2026, 5, 1}}, {"dragon_boat", d{2026, 6, 19}}, {"mid_autumn", d{2026, 9, 25}},
		{"national_day", d{2026, 10, 1}},
		{"new_year", d{2027, 1, 1}}, {"spring_festival", d{2027, 2, 6}}, {"qingming", d{2027, 4, 5}},
		{"labour_day", d{2027, 5, 1}}, {"dragon_boat", d{2027, 6, 9}}, {"mid_autumn", d{2027, 9, 15}},
		{"national_day", d{2027, 10, 1}},
		{"new_year", d{2028, 1, 1}}, {"spring_festival", d{2028, 1, 26}}, {"qingming", d{2028, 4, 4}},
		{"labour_day", d{2028, 5, 1}}, {"dragon_boat", d{2028, 5, 28}}, {"mid_autumn", d{2028, 10, 3}},
		{"national_day", d{2028, 10, 1}},
	}
	out := make([]Festival, len(days))
	for i, f := range days {
		day := DaysFromCivil(f.on.y, f.on.m, f.on.day)
		out[i] = Festival{Name: f.name, FromDay: day, ToDay: day}
	}
	return out
}

// Asia/Shanghai has been UTC+8 all year since 1991, so its calendar is plain arithmetic and the
// decider needs no time zone database.
const (
	shanghaiOffsetSeconds = 8 * 3600
	secondsPerDay         = 86400
	nanosPerSecond        = 1_000_000_000
)

// DayOf returns the Asia/Shanghai calendar day (days since 1970-01-01) of a batch time.
func DayOf(nanos int64) int32 {
	s := nanos/nanosPerSecond + shanghaiOffsetSeconds
	if nanos < 0 && nanos%nanosPerSecond != 0 {
		s--
	}
	d := s / secondsPerDay
	if s < 0 && s%secondsPerDay != 0 {
		d--
	}
	return int32(d)
}

// YearOf returns the Asia/Shanghai calendar year of a batch time.
func YearOf(nanos int64) int32 {
	y, _, _ := CivilFromDays(DayOf(nanos))
	return int32(y)
}

// DayStartNanos returns the batch time at which Asia/Shanghai day starts.
func DayStartNanos(day int32) int64 {
	return (int64(day)*secondsPerDay - shanghaiOffsetSeconds) * nanosPerSecond
}

// DaysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian date (Howard
// Hinnant's algorithm).
func DaysFromCivil(y, m, d int) int32 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int32(era*146097 + doe - 719468)
}

// CivilFromDays is the inverse of DaysFromCivil.
func CivilFromDays(days int32) (y, m, d int) {
	z := int(days) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// overlapsFestival reports whether the window [fromNanos, toNanos) touches a festival day.
func (c *Config) overlapsFestival(fromNanos, toNanos int64) bool {
	for _, f := range c.Festivals {
		if fromNanos < DayStartNanos(f.ToDay+1) && DayStartNanos(f.FromDay) < toNanos {
			return true
		}
	}
	return false
}
