package httpapi

// routes is the route table: every endpoint the client API serves, grouped
// by domain. Each group lives beside its handlers.
func (a *API) routes() []route {
	var all []route
	for _, group := range [][]route{
		a.discoveryRoutes(),
		a.sessionRoutes(),
		a.profileRoutes(),
		a.accountDataRoutes(),
		a.pushRuleRoutes(),
		a.presenceRoutes(),
		a.filterRoutes(),
		a.accountRoutes(),
		a.roomRoutes(),
		a.membershipRoutes(),
		a.roomAliasRoutes(),
		a.typingRoutes(),
		a.receiptRoutes(),
		a.directoryRoutes(),
		a.syncRoutes(),
		a.messageRoutes(),
		a.relationRoutes(),
		a.pusherRoutes(),
		a.searchRoutes(),
		a.noticeRoutes(),
		a.keyRoutes(),
		a.toDeviceRoutes(),
		a.dehydrationRoutes(),
		a.keyBackupRoutes(),
		a.mediaRoutes(),
		a.scannerRoutes(),
	} {
		all = append(all, group...)
	}
	return all
}
