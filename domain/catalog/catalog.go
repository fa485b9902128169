// Package catalog lists every event type of the system in one place, so
// that the command side (repositories) and the read side (projections)
// decode the log with the same types and upcasters, and every view of the
// API, so that each read path asks the same rules who may see what. A
// new area registers its events and declares its views here.
package catalog

import (
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/privacy"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
)

// Types knows every event type of every area, with who may see it.
var Types = func() *domain.Types {
	t := &domain.Types{}
	access.RegisterEvents(t)
	registry.RegisterEvents(t)
	certification.RegisterEvents(t)
	network.RegisterEvents(t)
	project.RegisterEvents(t)
	activity.RegisterEvents(t)
	privacy.RegisterEvents(t)
	budgeting.RegisterEvents(t)
	benchmark.RegisterEvents(t)
	return t
}()

// Views knows who may see each field of every type of the API.
var Views = func() *domain.Views {
	v := &domain.Views{}
	declarePlatform(v)
	registry.DeclareViews(v)
	certification.DeclareViews(v)
	network.DeclareViews(v)
	project.DeclareViews(v)
	activity.DeclareViews(v)
	privacy.DeclareViews(v)
	budgeting.DeclareViews(v)
	benchmark.DeclareViews(v)
	return v
}()

// declarePlatform declares the views of the platform's own types: who is
// calling, the read models' progress, the log's events, and the values
// every area uses.
func declarePlatform(v *domain.Views) {
	v.View("Query", domain.Everyone, "viewer projections")
	// Each event of a subscription is shown as Types.See decides.
	v.View("Subscription", domain.Everyone, "events projectionStatus")
	v.View("Viewer", domain.Everyone, "role name municipality region cycle")
	// A read model's last error is the server's own text: for those who
	// run and audit it.
	v.View("ProjectionStatus", domain.Everyone, "name version generation state failing position head lagEvents lagSeconds updatedAt").
		Only(domain.AnyRole(domain.Admin, domain.Auditor), "lastError")
	v.View("RecordedEvent", domain.Enclosing, "position id stream version type schemaVersion data occurredAt recordedAt actor role correlationId withheld erased")
	// The log's tree: hashes and signatures, which tell nothing of the
	// events behind them (each leaf covers the event's random ID); the
	// events come only through the reads that ask who may see them, and
	// an audit's proofs leave out the events the caller may not see.
	v.View("Query", domain.Everyone, "logCheckpoint logProof logConsistency")
	v.View("LogCheckpoint", domain.Everyone, "origin treeSize rootHash signedAt note witnesses")
	v.View("LogInclusion", domain.Enclosing, "checkpoint proofs")
	v.View("InclusionProof", domain.Enclosing, "position treeSize leafHash hashes")
	v.View("ConsistencyProof", domain.Everyone, "fromSize toSize hashes")
	v.View("LocalizedText", domain.Enclosing, "ka en")
	v.View("PageInfo", domain.Enclosing, "hasNextPage endCursor")
}
