package hubcmd

// CommandNames and FamilyNames expose the command table to the tests.
var (
	CommandNames = commandNames
	FamilyNames  = familyNames
)
