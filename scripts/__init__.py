"""Project scripts that are not part of the installed package (the sample-crawl generator, checks)."""
