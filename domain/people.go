package domain

// The categories a person is counted in, wherever people are counted
// (an activity's attendees, a participatory budget's voters), so that
// the figures of one area compare with another's. "" stands for not
// recorded: sign-in sheets and ballots do not always ask.
var (
	Sexes    = []string{"female", "male"}
	AgeBands = []string{"under_18", "18_29", "30_44", "45_64", "65_plus"}
)
