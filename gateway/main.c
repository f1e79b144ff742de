#include "gateway/cmd.h"

int
main(int argc, char **argv)
{
	return gateway_main(argc, argv);
}
