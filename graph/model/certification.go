package model

import (
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/graph/scalar"
	"github.com/civicledger/civicledger/projections"
)

// Application is a municipality's application in one cycle, as the API
// shows it. Its fields are filled whole; who sees which of them is the
// domain's rule (certification.DeclareViews), which the API applies to
// every field it resolves, judging by About.
type Application struct {
	ID                  string
	Year                int
	Municipality        *projections.Municipality
	Status              certification.Status
	SubmittedOn         *string
	Confirmed           bool
	Completeness        projections.Completeness
	Missing             []string
	OpenRequests        []string
	Requests            []InformationRequest
	Experts             []string
	Assignments         []ExpertAssignment
	Conflicted          []string
	Answers             []Answer
	Scores              []Score
	Decision            *Decision
	Certificate         *Certificate
	PreviousCertificate *Certificate
	ScoreSummary        *ScoreSummary
	Timeline            []TimelineEntry
	Version             int
	Position            scalar.Position
	// About is what the application is about: its municipality and the
	// experts assigned to it.
	About domain.Scope
}

// Scope is what the application is about.
func (a Application) Scope() domain.Scope { return a.About }

// Scope is what a score is about: its expert, who sees it besides the
// judges.
func (s Score) Scope() domain.Scope { return domain.Scope{Subject: s.Expert} }

// Scope is what an assignment is about: its expert.
func (a ExpertAssignment) Scope() domain.Scope { return domain.Scope{Subject: a.Expert} }

// Scope is what an information request is about: the expert who asked.
func (q InformationRequest) Scope() domain.Scope {
	if q.Expert == nil {
		return domain.Scope{}
	}
	return domain.Scope{Subject: *q.Expert}
}
