# corpus_facts.sh - filled in from docs/real-world.md findings
