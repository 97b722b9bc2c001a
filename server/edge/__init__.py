"""The two WebSockets: connections, the kiosk and console adapters, positions,
leases, team pushes."""
