# Models for this app arrive with its own issue; the app exists now so URLs, migrations
# and the dependency direction are fixed from the start.
