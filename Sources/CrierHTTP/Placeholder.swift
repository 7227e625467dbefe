enum PlaceholderCrierHTTP {}
