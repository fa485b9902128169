// Package catalog lists every event type of the system in one place, so
// that the command side (repositories) and the read side (projections)
// decode the log with the same types and upcasters. A new area registers
// its events here.
package catalog

import (
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
)

// Types knows every event type of every area.
var Types = func() *domain.Types {
	t := &domain.Types{}
	access.RegisterEvents(t)
	registry.RegisterEvents(t)
	certification.RegisterEvents(t)
	network.RegisterEvents(t)
	project.RegisterEvents(t)
	activity.RegisterEvents(t)
	return t
}()
