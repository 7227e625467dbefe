enum PlaceholderCrierServer {}
