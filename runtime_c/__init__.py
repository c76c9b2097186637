# runtime_c/ ships inside the installed package as data (C sources and headers);
# this file only lets importlib.resources find it as cnnc.runtime_c.
