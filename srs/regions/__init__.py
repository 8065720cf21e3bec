"""Administrative regions: country > province > ... > village, of any depth."""
