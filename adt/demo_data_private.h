/* Lists behind adt/demo_data.c (adt/demo_data_names.c). */
#ifndef ADT_DEMO_DATA_PRIVATE_H
#define ADT_DEMO_DATA_PRIVATE_H

/* Space-separated words, most common first. */
extern const char demo_data_female[];
extern const char demo_data_male[];
extern const char demo_data_last[];
extern const char demo_data_streets[];
extern const char demo_data_street_types[];

struct demo_data_city {
	const char *name;
	int zip;  /* base ZIP; the generator adds 0..4 */
	int area; /* telephone area code */
};
/* Terminated by a NULL name. */
extern const struct demo_data_city demo_data_cities[];

#endif
