"""Text units shared by the filters, dedup and decontamination: words per script and normalisation."""
