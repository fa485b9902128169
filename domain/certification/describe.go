package certification

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/civicledger/civicledger/domain"
)

// maxDescribedText bounds the free text (a question, a reason) quoted in a
// description, in characters.
const maxDescribedText = 120

// Describe is a one-line English account of an application's event, for
// its timeline: the read model keeps it, and a state rebuilt from the
// events shows the same line. It names experts and quotes scores, so who
// may read it is the caller's concern. An event it does not know gets
// its type.
func Describe(e domain.Event) string {
	switch e := e.(type) {
	case ApplicationDrafted:
		return fmt.Sprintf("Application of %s for the %d cycle drafted", e.Municipality, e.Year)
	case AnswersSaved:
		set, cleared := 0, 0
		for _, a := range e.Answers {
			if a == "" {
				cleared++
			} else {
				set++
			}
		}
		s := fmt.Sprintf("%s saved", plural(set, "answer", "answers"))
		if cleared > 0 {
			s += fmt.Sprintf(", %d cleared", cleared)
		}
		return s
	case ApplicationSubmitted:
		return "Submitted on " + e.On
	case ApplicationWithdrawn:
		return withText("Withdrawn", e.Reason)
	case ProcessStartConfirmed:
		return "Start of the evaluation confirmed"
	case CompletenessChecked:
		if e.Complete {
			return "Found complete"
		}
		return withText("Found incomplete, missing", strings.Join(e.Missing, "; "))
	case InformationRequested:
		return withText(fmt.Sprintf("Information request %s by %s", e.RequestID, e.Expert), e.Question)
	case InformationProvided:
		return fmt.Sprintf("Information request %s answered", e.RequestID)
	case MaterialChangeReported:
		return withText("Material change reported", e.Description)
	case ExpertAssigned:
		return fmt.Sprintf("Expert %s assigned", e.Expert)
	case ConflictOfInterestDeclared:
		if e.Conflict {
			return fmt.Sprintf("%s declared a conflict of interest", e.Expert)
		}
		return fmt.Sprintf("%s declared no conflict of interest", e.Expert)
	case ScoreRecorded:
		return fmt.Sprintf("%s scored %s %d (rules version %d)", e.Expert, e.Criterion, e.Score, e.RulesVersion)
	case ScoreRevised:
		return withText(fmt.Sprintf("%s revised %s to %d", e.Expert, e.Criterion, e.Score), e.Reason)
	case DecisionTaken:
		outcome := "not certified"
		if e.Certified {
			outcome = "certified"
		}
		rec := "do not certify"
		if e.Recommendation.Certify {
			rec = "certify"
		}
		s := fmt.Sprintf("Decided: %s (recommendation: %s, weighted score %.2f, rules version %d)",
			outcome, rec, e.Recommendation.Score, e.RulesVersion)
		if e.Certified != e.Recommendation.Certify {
			s = withText(s+", against the recommendation", e.Justification)
		}
		return s
	case ResultAnnounced:
		return "Result announced on " + e.On
	case CertificateIssued:
		return fmt.Sprintf("Certificate %s issued, valid from %s until %s", e.Number, e.ValidFrom, e.ValidUntil)
	case CertificateAwarded:
		return "Certificate awarded on " + e.On
	case CertificateRevoked:
		return withText("Certificate revoked on "+e.On, e.Reason)
	}
	return e.EventType()
}

// withText appends text, on one line and shortened, to prefix.
func withText(prefix, text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return prefix
	}
	if utf8.RuneCountInString(text) > maxDescribedText {
		text = string([]rune(text)[:maxDescribedText-1]) + "…"
	}
	return prefix + ": " + text
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
