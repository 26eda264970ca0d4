"""HGCalML: GravNet with object condensation on calorimeter showers."""
