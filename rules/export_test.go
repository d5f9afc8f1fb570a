package rules

// Exported for the external tests.
var HasMention = hasMention
