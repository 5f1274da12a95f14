"""Numbers from seed-examples.md, written once for the tests that compare with them."""

# Example 4 (CS231n, staged computation) at x=3, y=-4: node -> (value, df/dnode).
CS231N_STAGED_NODES = {
    "sigy": (0.01798620996209156, 0.5121444488396316),
    "num": (3.0179862099620918, 0.5121444488396316),
    "sigx": (0.9525741268224334, -0.7915934472725935),
    "xpy": (-1.0, 1.583186894545187),
    "xpysqr": (1.0, -0.7915934472725935),
    "den": (1.9525741268224333, -0.7915934472725935),
    "invden": (0.5121444488396316, 3.0179862099620918),
    "f": (1.5456448841066441, 1.0),
}
