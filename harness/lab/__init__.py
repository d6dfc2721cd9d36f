"""Labs beyond one station: lab files, flock leases, station pools, ser2net, summaries."""
