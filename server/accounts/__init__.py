"""Who is who: towns and their settings, kiosks and their tokens, operators,
sessions, login throttling."""
