enum PlaceholderCrierStorage {}
