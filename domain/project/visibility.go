package project

import "github.com/civicledger/civicledger/domain"

// Who sees donor projects: everyone, as donors publish them (IATI), but
// for the name of the project's lead, a person: personal data, which
// signed-in callers see until it is erased.

// LeadSubject is the data subject of a project lead's name: what `civic
// erase subject` takes to erase it.
func LeadSubject(project string) string { return "project:" + project + ":lead" }

func declareEvents(t *domain.Types) {
	domain.Declare[Registered](t, domain.Everyone, nil).
		Show("id", "title", "implementers", "partners", "start", "end", "regions", "municipalities", "objectives", "total").
		Personal(domain.SignedIn, func(e Registered) string { return LeadSubject(e.ID) }, "lead")
	domain.Declare[ContributionRecorded](t, domain.Everyone, nil).Show("project", "donor", "amount")
	domain.Declare[IndicatorDefined](t, domain.Everyone, nil).
		Show("project", "id", "result_type", "result", "title", "unit", "higher_is_better", "baseline_year", "baseline")
	domain.Declare[TargetSet](t, domain.Everyone, nil).Show("project", "indicator", "start", "end", "value")
	domain.Declare[ActualRecorded](t, domain.Everyone, nil).
		Show("project", "id", "indicator", "start", "end", "value", "disaggregation", "source")
	domain.Declare[ActualCorrected](t, domain.Everyone, nil).Show("project", "id", "value", "disaggregation", "reason")
}

// DeclareViews declares who sees projects in the API.
func DeclareViews(v *domain.Views) {
	v.View("Query", domain.Everyone, "projects project")
	v.View("Mutation", domain.Everyone, "registerProject recordContribution defineIndicator setTarget recordActual correctActual")
	v.View("Project", domain.Everyone, "id title implementers partners start end regions municipalities objectives total contributions indicators leadErased").
		Personal(domain.SignedIn, "lead")
	v.View("Contribution", domain.Enclosing, "donor amount")
	v.View("Indicator", domain.Enclosing, "id resultType result title unit higherIsBetter baseline baselineYear targets target actual percent elapsed status")
	v.View("Money", domain.Enclosing, "amount currency formatted")
	v.View("Target", domain.Enclosing, "start end value")
	v.View("ProjectPayload", domain.Enclosing, "position project")
}
