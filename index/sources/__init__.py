"""Where articles come from: files, web pages, RSS/Atom feeds, and the watcher that keeps them indexed."""
