"""What the town keeps of its calls: tracked requests, search, the call log, the
numbers, exports and retention."""
