"""The preview site (`orshot-gitops preview --out DIR`): mock-ups, a calendar, ICS feeds."""
