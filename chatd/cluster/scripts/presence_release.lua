-- ARGV uid, node: the node has no connection of the user left.
return release(ARGV[1], ARGV[2])
