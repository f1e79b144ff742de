/* Name, street and city lists for the synthetic data set: common US names
 * (a few with accents, to exercise ASCII folding), in rough order of
 * frequency (the generator draws with Zipf-like weights); '_' stands
 * for a space inside a name. */
#include "adt/demo_data_private.h"

#include <stddef.h>

const char demo_data_female[] =
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah "
    "Karen Lisa Nancy Betty Margaret Sandra Ashley Kimberly Emily Donna "
    "Michelle Carol Amanda Dorothy Melissa Deborah Stephanie Rebecca Sharon "
    "Laura Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma "
    "Nicole Helen Samantha Katherine Christine Debra Rachel Carolyn Janet "
    "Catherine Maria Heather Diane Ruth Julie Olivia Joyce Virginia "
    "Victoria Kelly Lauren Christina Joan Evelyn Judith Megan Andrea "
    "Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison "
    "Frances Kathryn Janice Jean Abigail Alice Judy Sophia Grace Denise "
    "Amber Doris Marilyn Danielle Beverly Isabella Theresa Diana Natalie "
    "Brittany Charlotte Marie Kayla Alexis Lori Zo\xc3\xab Ren\xc3\xa9" "e "
    "Beatriz Luc\xc3\xad" "a Mar\xc3\xad" "a Ximena Guadalupe Yolanda "
    "Rosa Carmen Aaliyah Destiny Jasmine Imani Keisha Latoya Tamika Mei "
    "Lin Priya Anjali Fatima Aisha Leila Noor Hiroko Yuki Min";

const char demo_data_male[] =
    "James Robert John Michael David William Richard Joseph Thomas "
    "Christopher Charles Daniel Matthew Anthony Mark Donald Steven Andrew "
    "Paul Joshua Kenneth Kevin Brian George Timothy Ronald Jason Edward "
    "Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin "
    "Scott Brandon Benjamin Samuel Gregory Alexander Patrick Frank Raymond "
    "Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary Douglas "
    "Peter Kyle Noah Ethan Jeremy Walter Christian Keith Roger Terry "
    "Austin Sean Gerald Carl Harold Dylan Arthur Lawrence Jordan Jesse "
    "Bryan Billy Bruce Gabriel Joe Logan Alan Juan Albert Willie Elijah "
    "Wayne Randy Vincent Mason Roy Ralph Bobby Russell Bradley Philip "
    "Eugene Jos\xc3\xa9 Andr\xc3\xa9 Ra\xc3\xbal Luis Carlos Miguel "
    "Diego Javier Alejandro Marcus Darnell Tyrone Jamal Malik DeShawn "
    "Wei Chen Hiroshi Kenji Raj Arjun Vikram Omar Ahmed Hassan Yusuf "
    "Dmitri Ivan Sergei Piotr Lars Sven";

const char demo_data_last[] =
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez "
    "Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore "
    "Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez "
    "Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen "
    "Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell "
    "Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards "
    "Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez "
    "Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox "
    "Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza "
    "Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross "
    "Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman "
    "Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan "
    "Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno "
    "West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar "
    "Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald "
    "Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker "
    "Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez "
    "Silva Shaw Snyder Mason Dixon Mu\xc3\xb1oz Hunt Hicks Holmes Palmer "
    "Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills "
    "Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto "
    "Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold "
    "Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott "
    "Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews "
    "Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews "
    "Pe\xc3\xb1" "a Richards Contreras Willis Carpenter Lawrence Sandoval "
    "Guerrero George Chapman Rios Estrada Ortega Watkins Greene N\xc3\xba"
    "\xc3\xb1" "ez Wheeler Valdez Harper Burke Larson Santiago Maldonado "
    "Morrison Franklin Carlson Austin Dominguez Carr Lawson Jacobs "
    "O'Brien O'Connor McCarthy Lynch DeLuca Russo Romano Kowalski Nowak "
    "Wisniewski M\xc3\xbcller Schneider Fischer Weber Becker Schulz "
    "Yamamoto Tanaka Watanabe Suzuki Sato Wang Li Zhang Liu Huang Singh "
    "Kumar Shah Mehta Ali Khan Hussain Rahman Haddad Khoury Saleh "
    "Abdullah Okafor Adeyemi Mensah Diallo Kaminski Jankowski "
    "Van_der_Berg De_la_Cruz Smith-Jones St._Pierre";

const char demo_data_streets[] =
    "Main Oak Maple Cedar Pine Elm Washington Lake Hill Park Walnut "
    "Sunset Lincoln Jackson Church River Highland Ridge Meadow Forest "
    "Spring Center Willow Cherry Mill Jefferson Franklin Madison Chestnut "
    "Adams Woodland Grand Michigan Huron Superior Erie Ontario Saginaw "
    "Woodward Gratiot Packard Liberty Division Plymouth Fairview Orchard "
    "Birch Aspen Hickory Poplar Sycamore Dogwood Laurel Magnolia Spruce "
    "Harbor Lakeview Riverside Hillcrest Brookside Greenfield Telegraph";

/* Suffix as the generator writes it, in full (ACRS files sometimes get
 * the abbreviation instead). */
const char demo_data_street_types[] =
    "Street Avenue Road Drive Lane Court Boulevard Place Way Circle "
    "Terrace Trail Parkway Highway";

/* City, ZIP base, area code. */
const struct demo_data_city demo_data_cities[] = {
	{"Detroit", 48201, 313}, {"Ann Arbor", 48103, 734},
	{"Grand Rapids", 49503, 616}, {"Lansing", 48906, 517},
	{"Flint", 48502, 810}, {"Kalamazoo", 49001, 269},
	{"Saginaw", 48601, 989}, {"Traverse City", 49684, 231},
	{"Dearborn", 48120, 313}, {"Livonia", 48150, 734},
	{"Troy", 48083, 248}, {"Southfield", 48033, 248},
	{"Warren", 48088, 586}, {"Sterling Heights", 48310, 586},
	{"Novi", 48374, 248}, {"Ypsilanti", 48197, 734},
	{"Pontiac", 48340, 248}, {"Royal Oak", 48067, 248},
	{"Battle Creek", 49014, 269}, {"Jackson", 49201, 517},
	{"Muskegon", 49440, 231}, {"Bay City", 48706, 989},
	{"Midland", 48640, 989}, {"Holland", 49423, 616},
	{"Marquette", 49855, 906}, {"Port Huron", 48060, 810},
	{"East Lansing", 48823, 517}, {"Wyoming", 49509, 616},
	{"Canton", 48187, 734}, {"Westland", 48185, 734},
	{"Farmington Hills", 48334, 248}, {"Rochester Hills", 48307, 248},
	{"Sault Ste. Marie", 49783, 906}, {"St. Joseph", 49085, 269},
	{NULL, 0, 0},
};
