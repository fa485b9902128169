package network

import "github.com/civicledger/civicledger/domain"

// Who sees networks: everyone. Networks and their memberships are the
// public face of the programmes; they carry no personal data.

func declareEvents(t *domain.Types) {
	domain.Declare[Formed](t, domain.Everyone, nil).Show("id", "kind", "name", "on")
	domain.Declare[MemberJoined](t, domain.Everyone, nil).Show("network", "organisation", "role", "region", "on")
	domain.Declare[MemberRoleChanged](t, domain.Everyone, nil).Show("network", "organisation", "role", "region", "on")
	domain.Declare[MemberSuspended](t, domain.Everyone, nil).Show("network", "organisation", "on", "reason")
	domain.Declare[MemberReinstated](t, domain.Everyone, nil).Show("network", "organisation", "on")
	domain.Declare[MemberLeft](t, domain.Everyone, nil).Show("network", "organisation", "on", "reason")
}

// DeclareViews declares who sees networks in the API.
func DeclareViews(v *domain.Views) {
	v.View("Query", domain.Everyone, "networks network regionalDirectory")
	v.View("Mutation", domain.Everyone, "formNetwork joinNetwork changeNetworkRole suspendNetworkMember reinstateNetworkMember leaveNetwork")
	v.View("Organisation", domain.Everyone, "memberships")
	v.View("Network", domain.Everyone, "id kind name formedOn members timeline")
	v.View("NetworkMember", domain.Everyone, "organisation role region status joinedOn validFrom validTo reason network")
	v.View("NetworkPayload", domain.Enclosing, "position network")
	v.View("RegionalDirectory", domain.Everyone, "region on hubs counts organisations")
	v.View("DirectoryCount", domain.Enclosing, "municipality kind organisations")
}
