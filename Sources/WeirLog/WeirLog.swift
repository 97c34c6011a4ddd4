// The embedded segment log. See ../shared/ARCHITECTURE.md, "The log core".
