package welfare

import "slices"

func slicesSort[T ~uint64](ids []T) { slices.Sort(ids) }
